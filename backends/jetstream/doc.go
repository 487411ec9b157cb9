// Package jetstream is mqscope's backend for jetstream; importing it registers the driver with core.
package jetstream
