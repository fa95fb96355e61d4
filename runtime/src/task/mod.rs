//! Tasks as the runtime sees them: the cell that holds a future and its result, and the
//! join handle that reads the result.

pub(crate) mod cell;
pub(crate) mod join;
