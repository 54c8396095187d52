// Package store holds the operator's reference data — clients, keysets, keyset
// keys, salts, sites, client-side keypairs, services and runtime config — as
// immutable snapshots swapped atomically, and parses them from exactly the
// file formats UID2 Core serves (core-and-optout.md §2.4), so that local mode
// and Core mode share one parser.
//
// One table, Parts, describes every part: its metadata format and key, its
// Core path, its dataset path, its config keys and switch, its parser and
// the Snapshot field it sets. The Loader, Core mode, local mode, config path
// derivation and the stand-in Core all follow it, so adding a part is a row
// there plus its parser and Snapshot field. A part with BootstrapKeys (the
// runtime config) is built from those operator config keys instead of being
// loaded when its switch is off (Store.LoadBootstrap), as the reference's
// bootstrap config store does with enable_remote_config=false.
//
// A Snapshot is never mutated after it is published; readers call Store.Load
// once per request and use that snapshot throughout.
package store
