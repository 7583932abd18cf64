package stack

import "errors"

// StoreError is the failure of one store in a run across several. The store
// package's own error stays reachable through Unwrap, so that the caller can
// still tell a held lock (migrations.ErrLocked) from an unreachable server
// and give the right exit code and hint.
type StoreError struct {
	Store string // Postgres, Influx, Elastic or S3
	Err   error
}

func (e *StoreError) Error() string { return e.Store + ": " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// storeErr wraps err for store, or returns nil.
func storeErr(store string, err error) error {
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*StoreError](err); ok && se.Store == store {
		return err
	}
	return &StoreError{Store: store, Err: err}
}
