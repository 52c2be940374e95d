module goqmail

go 1.26.0

require (
	github.com/miekg/dns v1.1.73
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require (
	github.com/GehirnInc/crypt v0.0.0-20230320061759-8cc1b52080c5 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.62.0 // indirect
)
