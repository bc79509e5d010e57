//! Money: prices, and the daily ledger that prices a run's usage. The engine never sees
//! any of it.

pub mod ledger;
pub mod prices;

pub use ledger::{Ledger, LedgerLine, Usage, ledger};
pub use prices::{Hardware, Prices};
