// Package server owns the plugin's one unix socket: it answers Plugin.Activate for both the
// NetworkDriver and the IpamDriver protocol, routes every call to a typed handler through one mux,
// bounds and decodes request bodies, encodes answers and errors, and shuts down gracefully. It is a
// package of its own because Docker's two plugin protocols must share this one socket.
package server
