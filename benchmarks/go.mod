module github.com/heartbeat-registry/heartbeat/benchmarks

go 1.24.0

replace github.com/heartbeat-registry/heartbeat => ../

require (
	github.com/heartbeat-registry/heartbeat v0.0.0-00010101000000-000000000000
	github.com/jellydator/ttlcache/v3 v3.4.1
	github.com/maypok86/otter/v2 v2.4.0
	github.com/patrickmn/go-cache v2.1.0+incompatible
	github.com/puzpuzpuz/xsync/v3 v3.5.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
)
