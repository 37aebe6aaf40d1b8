//! GOST cryptography (a leaf module: knows nothing of gRPC or storage).
pub mod streebog;
