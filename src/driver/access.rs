//! [`StateAccess`] for the driver's access paths, [`Task`] and [`Driver`].

use super::run::Driver;
use super::task::Task;
use crate::access::{StateAccess, sealed};

impl<S: 'static> sealed::Sealed for Task<'_, S> {}
impl<S: 'static> sealed::Sealed for Driver<S> {}

impl<S: 'static> StateAccess for Task<'_, S> {
    type State = S;

    #[inline]
    fn state(&mut self) -> &mut S {
        Task::state(self)
    }
}

impl<S: 'static> StateAccess for Driver<S> {
    type State = S;

    #[inline]
    fn state(&mut self) -> &mut S {
        Driver::state(self)
    }
}
