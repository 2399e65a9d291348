//go:build !cuda

package gpu

// Open returns ErrNoCUDA: this library was built without the cuda tag.
func Open(ordinal int) (*Device, error) { return nil, ErrNoCUDA }

// Probe reports why no device can be opened: always ErrNoCUDA here.
func Probe() (int, error) { return 0, ErrNoCUDA }

// Built reports whether the package was built with CUDA support.
const Built = false
