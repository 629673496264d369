//! One framework for both doors: serenity's gateway and the HTTP endpoint.
//! serenity owns the framework it is given, so [`SharedFramework`] wraps it:
//! serenity calls the wrapper, and the [`Dispatcher`] it hands out feeds
//! interactions received over HTTP through the very same framework (poise's
//! commands, checks and hooks, and the panel's router) with a gateway
//! context captured from READY.

use std::sync::{Arc, OnceLock, RwLock};

use serenity::all::{Client, Context, FullEvent, Interaction};
use serenity::framework::Framework;
use tokio::task::JoinHandle;

/// A framework (poise's, for the panel) that serenity drives and the HTTP
/// endpoint can dispatch into as well. Give it to `ClientBuilder::framework`
/// in place of the framework itself.
pub struct SharedFramework<F> {
    /// Until serenity's `init`, which needs it mutably; then it moves into
    /// the dispatcher.
    framework: Option<F>,
    dispatcher: Dispatcher,
}

impl<F: Framework + 'static> SharedFramework<F> {
    /// Wraps `framework` until serenity initialises it.
    pub fn new(framework: F) -> Self {
        Self {
            framework: Some(framework),
            dispatcher: Dispatcher::default(),
        }
    }

    /// The handle the HTTP endpoint dispatches through.
    pub fn dispatcher(&self) -> Dispatcher {
        self.dispatcher.clone()
    }

    /// The same framework for shard managers other than the client's own
    /// (serenity keeps the one it was given to itself): gateway events of
    /// their shards are dispatched exactly like those of the client's.
    pub fn for_more_shards(&self) -> Arc<dyn Framework> {
        Arc::new(Forwarder(self.dispatcher.clone()))
    }
}

/// A framework that forwards every event to a [`SharedFramework`]'s (see
/// [`SharedFramework::for_more_shards`]); initialised through the original.
struct Forwarder(Dispatcher);

#[serenity::async_trait]
impl Framework for Forwarder {
    async fn dispatch(&self, ctx: Context, event: FullEvent) {
        self.0.dispatch_event(ctx, event).await;
    }
}

#[serenity::async_trait]
impl<F: Framework + 'static> Framework for SharedFramework<F> {
    async fn init(&mut self, client: &Client) {
        if let Some(mut framework) = self.framework.take() {
            framework.init(client).await;
            let _ = self.dispatcher.inner.framework.set(Arc::new(framework));
        }
    }

    async fn dispatch(&self, ctx: Context, event: FullEvent) {
        self.dispatcher.dispatch_event(ctx, event).await;
    }
}

/// Dispatches interactions that did not come through the gateway.
#[derive(Clone, Default)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    framework: OnceLock<Arc<dyn Framework>>,
    /// The newest gateway context: commands use its HTTP client and data;
    /// none of the panel's answers go through the shard itself.
    context: RwLock<Option<Context>>,
}

/// Nothing to dispatch with yet: no shard has received READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotReady;

impl Dispatcher {
    /// A gateway event, to the framework once it is initialised.
    async fn dispatch_event(&self, ctx: Context, event: FullEvent) {
        // Every READY refreshes the context: a shard that reconnected has a
        // new runner, and the old messenger would talk to nobody.
        if matches!(event, FullEvent::Ready { .. }) {
            self.set_context(ctx.clone());
        }
        if let Some(framework) = self.inner.framework.get() {
            framework.dispatch(ctx, event).await;
        }
    }

    fn set_context(&self, ctx: Context) {
        *self
            .inner
            .context
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ctx);
    }

    /// Runs `interaction` through the framework on its own task, as serenity
    /// does for a gateway event.
    pub fn dispatch(&self, interaction: Interaction) -> Result<JoinHandle<()>, NotReady> {
        let framework = self.inner.framework.get().cloned().ok_or(NotReady)?;
        let ctx = self
            .inner
            .context
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(NotReady)?;
        Ok(tokio::spawn(async move {
            framework
                .dispatch(ctx, FullEvent::InteractionCreate { interaction })
                .await;
        }))
    }
}
