//! The handles of the peers we follow and of the followers we deliver to: one task
//! each, started with the server or, once it runs, when the handle is added.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

pub(crate) struct Registry<H> {
    handles: RwLock<BTreeMap<String, Arc<H>>>,
    started: Mutex<bool>,
}

impl<H> Registry<H> {
    pub fn new(handles: BTreeMap<String, Arc<H>>) -> Self {
        Registry {
            handles: RwLock::new(handles),
            started: Mutex::new(false),
        }
    }

    /// Marks the tasks as running; the handles to start now.
    pub fn start(&self) -> Vec<Arc<H>> {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.all()
    }

    pub fn all(&self) -> Vec<Arc<H>> {
        self.handles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<Arc<H>> {
        self.handles
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Adds (or replaces) a handle; true when its task should start now.
    pub fn insert(&self, id: String, handle: Arc<H>) -> bool {
        self.handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, handle);
        *self.started.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn remove(&self, id: &str) {
        self.handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}
