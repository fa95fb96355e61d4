//! Tasks as the runtime sees them: the cell that holds a future and its result, and the
//! join handle that reads the result.

pub(crate) mod abort;
pub(crate) mod cell;
pub(crate) mod join;
pub(crate) mod join_set;
