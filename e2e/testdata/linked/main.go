// Command linked is the second yardstick of the cold-start benchmark: the
// bare server, linked with every knshop function as the image's binary is
// (their packages and dependencies, their package init), but starting
// none. What it adds to the bare server is what linking costs before any
// function starts.
package main

import (
	"net/http"
	"os"

	_ "github.com/knshop/knshop/functions"
)

func main() {
	http.HandleFunc("/health/readiness", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		os.Exit(1)
	}
}
