package httpapi

// Validator collects field errors so a handler reports every invalid field
// at once.
type Validator struct{ errs []FieldError }

// Check records message for field unless ok.
func (v *Validator) Check(ok bool, field, message string) {
	if !ok {
		v.errs = append(v.errs, FieldError{Field: field, Message: message})
	}
}

// Err is nil when every check passed, else a 400 *Problem listing them.
func (v *Validator) Err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return Invalid(v.errs...)
}
