// Package archtest holds no code: its test checks the dependency rules of
// the package layout (style.md §1), so a new edge shows up in review.
package archtest
