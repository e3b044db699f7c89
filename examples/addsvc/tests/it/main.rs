//! addsvc's contract over real sockets: the `addsvc` binary started as a process, driven by
//! raw HTTP (as Go kit's clients send it) and by the `addcli` binary.

mod addcli;
mod contract;
mod process;
mod support;
