module github.com/pcct-dev/pcct

go 1.26.0

require golang.org/x/sync v0.24.0

require (
	golang.org/x/tools v0.30.0 // indirect
	gonum.org/v1/gonum v0.17.0
)
