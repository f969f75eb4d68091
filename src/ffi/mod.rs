//! The C ABI. (foundation in progress)
