// Package redisstream is mqscope's backend for redisstream; importing it registers the driver with core.
package redisstream
