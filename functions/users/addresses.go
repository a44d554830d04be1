package users

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/ids"
)

// The caller's addresses: add, replace, delete, at most one default.

type addressRequest struct {
	Label      string `json:"label"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"isDefault"`
}

// address validates the request and returns the address it describes.
func (req addressRequest) address(id string) (identity.Address, error) {
	a := identity.Address{ID: id, Label: strings.TrimSpace(req.Label), Line1: strings.TrimSpace(req.Line1), Line2: strings.TrimSpace(req.Line2),
		City: strings.TrimSpace(req.City), PostalCode: strings.TrimSpace(req.PostalCode), Country: strings.ToUpper(strings.TrimSpace(req.Country)), IsDefault: req.IsDefault}
	var v httpapi.Validator
	v.Check(utf8.RuneCountInString(a.Label) <= 40, "label", "must be at most 40 characters")
	v.Check(a.Line1 != "" && utf8.RuneCountInString(a.Line1) <= 200, "line1", "must be 1 to 200 characters")
	v.Check(utf8.RuneCountInString(a.Line2) <= 200, "line2", "must be at most 200 characters")
	v.Check(a.City != "" && utf8.RuneCountInString(a.City) <= 100, "city", "must be 1 to 100 characters")
	v.Check(a.PostalCode != "" && utf8.RuneCountInString(a.PostalCode) <= 20, "postalCode", "must be 1 to 20 characters")
	v.Check(utf8.RuneCountInString(a.Country) >= 2 && utf8.RuneCountInString(a.Country) <= 56, "country", "must be a country name or code")
	return a, v.Err()
}

// putDefault makes a the default when it asks to be, clearing the others:
// a profile has one default address at most.
func putDefault(addrs []identity.Address, a identity.Address) {
	for i := range addrs {
		if addrs[i].ID == a.ID {
			addrs[i] = a
		} else if a.IsDefault {
			addrs[i].IsDefault = false
		}
	}
}

func (f *Users) addAddress(w http.ResponseWriter, r *http.Request) {
	var req addressRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	a, err := req.address(ids.New())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	_, err = f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if len(p.Addresses) >= MaxAddresses {
			return errTooManyAdresses
		}
		p.Addresses = append(p.Addresses, a)
		putDefault(p.Addresses, a)
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusCreated, addressViewOf(a))
}

func (f *Users) putAddress(w http.ResponseWriter, r *http.Request) {
	var req addressRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	a, err := req.address(r.PathValue("addressId"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	_, err = f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if !hasAddress(p.Addresses, a.ID) {
			return errAddressNotFound
		}
		putDefault(p.Addresses, a)
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, addressViewOf(a))
}

func (f *Users) deleteAddress(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("addressId")
	_, err := f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if !hasAddress(p.Addresses, id) {
			return errAddressNotFound
		}
		kept := p.Addresses[:0]
		for _, a := range p.Addresses {
			if a.ID != id {
				kept = append(kept, a)
			}
		}
		p.Addresses = kept
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func hasAddress(addrs []identity.Address, id string) bool {
	for _, a := range addrs {
		if a.ID == id {
			return true
		}
	}
	return false
}
