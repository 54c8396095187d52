// Package salts holds the rotating salt buckets Core publishes to operators:
// the salts metadata document, the salt files parsed into a compact table,
// snapshot selection by time, bucket ids and the per-bucket facts the
// identity-map APIs need (core-and-optout.md §2.4.1; operator-api.md §3.1,
// §3.3, §3.5, §3.6 and §2.7).
//
// A production file has 1,048,576 buckets, so a Table keeps no per-bucket
// pointers: fixed-size records index into a few large string chunks, and key
// material, which repeats across many buckets, is interned. Tables, Sets and
// Snapshots are immutable once built and safe for concurrent use.
package salts
