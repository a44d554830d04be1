package users

import (
	"net/http"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
)

// Admin routes: any user's profile, and role changes.

func (f *Users) getUser(w http.ResponseWriter, r *http.Request) {
	p, err := f.profiles.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

type roleRequest struct {
	Role auth.Role `json:"role"`
}

func (f *Users) setRole(w http.ResponseWriter, r *http.Request) {
	var req roleRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	if !req.Role.Valid() {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "role", Message: "must be customer, seller, courier or admin"}))
		return
	}
	id := r.PathValue("id")
	if _, err := f.profiles.Get(r.Context(), id); err != nil {
		f.fail(w, r, err)
		return
	}
	// Access tokens take the role from the credential, so it changes
	// first; the profile and its USER_UPDATED follow. Both writes are
	// idempotent: after a crash between them, the admin's retry
	// completes the change.
	if err := f.creds.SetRole(r.Context(), id, req.Role); err != nil {
		f.fail(w, r, err)
		return
	}
	p, err := f.update(r.Context(), id, func(p *identity.Profile) error {
		p.Role = req.Role
		return nil
	})
	f.answer(w, r, p, err)
}
