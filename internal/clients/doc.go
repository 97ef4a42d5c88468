// Package clients holds the interoperability tests that drive a real waba with third-party
// WhatsApp Cloud API clients for Node, unmodified (issue 10 item 6): whatsapp-api-js and
// @great-detail/whatsapp, pinned in testdata/package.json. The scripts live in testdata/ so that
// Go's ./... patterns never walk node_modules; the tests (clients_test.go) install the modules
// with `npm ci` when they are missing, start waba on 127.0.0.1, run each script with node and
// assert its one-line JSON result exactly.
package clients
