package users

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
)

// The caller's own profile: reading it, editing it, deleting the account.

func (f *Users) getMe(w http.ResponseWriter, r *http.Request) {
	p, err := f.profiles.Get(r.Context(), caller(r))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

type patchRequest struct {
	Name        *string          `json:"name"`
	Preferences *json.RawMessage `json:"preferences"`
}

func (f *Users) patchMe(w http.ResponseWriter, r *http.Request) {
	var req patchRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	var v httpapi.Validator
	v.Check(req.Name != nil || req.Preferences != nil, "(body)", "name or preferences is required")
	var name string
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
		v.Check(name != "" && utf8.RuneCountInString(name) <= MaxNameLength, "name", "must be 1 to 100 characters")
	}
	if req.Preferences != nil {
		raw := *req.Preferences
		var obj map[string]any
		v.Check(len(raw) <= MaxPreferenceBytes, "preferences", "must be at most 16 KiB")
		v.Check(json.Unmarshal(raw, &obj) == nil && obj != nil, "preferences", "must be a JSON object")
	}
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	p, err := f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if req.Name != nil {
			p.Name = name
		}
		if req.Preferences != nil {
			p.Preferences = string(*req.Preferences)
		}
		return nil
	})
	f.answer(w, r, p, err)
}

func (f *Users) deleteMe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, err := f.profiles.Update(ctx, caller(r), func(p *identity.Profile) ([]event.Event, error) {
		now := f.now().UTC()
		// The tombstone keeps the id (so a late USER_REGISTERED cannot
		// bring the profile back) and drops the personal data.
		p.DeletedAt, p.UpdatedAt = &now, now
		p.Email, p.Name, p.Addresses, p.Preferences = "", "", nil, "{}"
		ev, err := events.New(ctx, Name, events.UserDeletedData{UserID: p.UserID, DeletedAt: now})
		if err != nil {
			return nil, err
		}
		return []event.Event{ev}, nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	fn.Logger(ctx).InfoContext(ctx, "account deleted", "user_id", caller(r))
	w.WriteHeader(http.StatusNoContent)
}
