// Package wa is the domain vocabulary shared by every layer: message ids, the dialect-neutral
// outbound message, phone-number normalisation. It does no I/O.
package wa
