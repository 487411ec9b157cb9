// Package natscore is mqscope's backend for natscore; importing it registers the driver with core.
package natscore
