//! The relay's operator commands (`fxe-server invite|operator|org|number …`),
//! run from the command line directly on the database, also while the relay
//! serves.

pub mod operator;
