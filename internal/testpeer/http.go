package testpeer

import (
	"io"
	"net/http"
	"time"
)

func httpPost(u string) (string, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(u, "application/json", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
