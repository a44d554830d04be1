// Command bare is the yardstick of the cold-start benchmark: a net/http
// server that answers its readiness route and nothing else.
package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/health/readiness", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		os.Exit(1)
	}
}
