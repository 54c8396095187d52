// Package cors answers cross-origin requests the way the reference's Vert.x
// CorsHandler does (operator-api.md §1.1): any origin is echoed, lists are
// comma-joined without spaces, preflights answer 204 with no Max-Age, and
// every response varies by Origin. /v2/token/validate also allows
// Authorization.
package cors

import "net/http"

// Allowed methods and headers; clients' preflight caches match this text.
const (
	methods = "GET,POST,OPTIONS"
	headers = "X-UID2-Client-Version,Access-Control-Request-Method,Access-Control-Allow-Credentials," +
		"Access-Control-Allow-Origin,Access-Control-Allow-Headers,Content-Type"
)

// varyOrigin is the shared Vary value, assigned into the header map to
// save Header.Set's allocation. A slice of length and capacity 1 is never
// written in place: Add appends into a new array.
var varyOrigin = []string{"Origin"}

// Handler wraps next with CORS: preflights are answered here, every other
// request gets its CORS headers and goes on to next.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if _, ok := h["Vary"]; ok {
			h.Add("Vary", "Origin")
		} else {
			h["Vary"] = varyOrigin
		}
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			allowHeaders := headers
			if r.URL.Path == "/v2/token/validate" {
				allowHeaders += ",Authorization"
			}
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
