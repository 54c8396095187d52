package ccepolicy

import "io"

// BoundedReaderForTest exposes the layer size bound with a small limit.
func BoundedReaderForTest(r io.Reader, n int64) io.Reader { return &boundedReader{r, n} }
