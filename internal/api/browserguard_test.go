package api

import (
	"net/http"
	"strings"
	"testing"
)

// A web page's cross-site POST is refused on every unsafe route, in both
// auth modes; safe methods and programs (no browser headers) pass.
func TestCrossSitePostsAreRefused(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		h := newHarness(t, func(o *Options) {
			if insecure {
				o.Tokens, o.Insecure = nil, true
			}
		})
		var j JobView
		h.json("POST", Prefix+"/jobs", `{"job_name":"target","input_data_s3_uri":"s3://b/p"}`, 201, &j)
		for _, path := range []string{Prefix + "/jobs", Prefix + "/jobs/" + j.ID + "/cancel", Prefix + "/sagemaker/setup", "/login", "/logout", "/jobs/" + j.ID + "/cancel"} {
			for _, hdr := range [][]string{
				{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"},
				{"Origin", "http://evil.example"},
				{"Sec-Fetch-Site", "same-site"},
			} {
				req, _ := http.NewRequest("POST", h.ts.URL+path, strings.NewReader(`{"job_name":"csrf","input_data_s3_uri":"s3://b/p"}`))
				req.Header.Set("Content-Type", "text/plain")
				req.Header.Set("Authorization", "Bearer "+testToken)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Set(hdr[i], hdr[i+1])
				}
				resp, err := h.ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 403 {
					t.Errorf("insecure=%v POST %s with %v = %d, want 403", insecure, path, hdr, resp.StatusCode)
				}
			}
		}
		// Same origin passes.
		code, b, _ := h.do("POST", Prefix+"/jobs", testToken, strings.NewReader(`{"job_name":"same","input_data_s3_uri":"s3://b/p"}`), "Sec-Fetch-Site", "same-origin", "Origin", h.ts.URL)
		if code != 201 {
			t.Errorf("insecure=%v same-origin POST = %d %s", insecure, code, b)
		}
		code, _, _ = h.do("GET", Prefix+"/jobs", testToken, nil, "Sec-Fetch-Site", "cross-site")
		if code != 200 {
			t.Errorf("insecure=%v cross-site GET = %d", insecure, code)
		}
	}
}

func TestNoAuthModeAnswersOnlyItsOwnHostNames(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Tokens, o.Insecure, o.ListenAddr = nil, true, "127.0.0.1:8080" })
	for host, want := range map[string]int{"rebind.evil.example": 421, "rebind.evil.example:8080": 421, "localhost:1234": 200, "127.0.0.1": 200, "[::1]:80": 200, "LOCALHOST.": 200} {
		req, _ := http.NewRequest("GET", h.ts.URL+Prefix+"/jobs", nil)
		req.Host = host
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s = %d, want %d", host, resp.StatusCode, want)
		}
	}
	// With tokens, a foreign Host still needs the token and is served with it.
	hb := newHarness(t, nil)
	req, _ := http.NewRequest("GET", hb.ts.URL+Prefix+"/jobs", nil)
	req.Host = "api.clinic.example"
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := hb.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("bearer mode, Host api.clinic.example = %d", resp.StatusCode)
	}
}
