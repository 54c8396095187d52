// Package store holds the operator's reference data — clients, keysets, keyset
// keys, salts, sites, client-side keypairs and runtime config — as immutable
// snapshots swapped atomically, and parses them from exactly the file formats
// UID2 Core serves (core-and-optout.md §2.4), so that local mode and Core mode
// share one parser.
//
// A Snapshot is never mutated after it is published; readers call Store.Load
// once per request and use that snapshot throughout.
package store
