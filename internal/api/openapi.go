package api

import (
	_ "embed"
	"encoding/json"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// The document is written in YAML (easier to read and review) and served
// as JSON, converted once at start.
//
//go:embed openapi.yaml
var openapiYAML []byte

var openapiJSON = mustOpenAPIJSON()

func mustOpenAPIJSON() []byte {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		panic("api: openapi.yaml is not valid YAML: " + err.Error())
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("api: openapi.yaml does not convert to JSON: " + err.Error())
	}
	return b
}

// OpenAPI returns the OpenAPI 3 document as JSON.
func OpenAPI() []byte { return append([]byte(nil), openapiJSON...) }

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiJSON)
}
