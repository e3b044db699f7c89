//! Eureka service discovery for kit (in progress).
