//! The server side: kefu's WebRTC gateway tasks on a multi-threaded tokio
//! runtime of their own, as `kefu serve` runs them (one task per browser,
//! two port pairs each from a [`PortAllocator`]), whose worker threads are
//! named [`THREAD_NAME`] so that their CPU time is the gateways' alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kefu_media::driver::ports::PortAllocator;
use kefu_media::driver::webrtc_task::{WebRtcHandle, spawn_webrtc_gateway};
use kefu_media::webrtc::gateway::GatewayConfig;
use tokio::runtime::Runtime;

pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The gateways' worker threads.
pub const THREAD_NAME: &str = "webrtc-gw";
/// Ports for the gateways, below Linux's ephemeral range where the load
/// generator's sockets are bound. Each gateway takes two pairs.
const PORTS: &str = "20000-29999";
/// How long a browser has to connect, on both sides.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The gateways' runtime; dropping it ends every gateway left.
pub struct Server {
    runtime: Runtime,
    gateways: Gateways,
}

impl Server {
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()?;
        let range = PORTS
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let gateways = Gateways {
            runtime: runtime.handle().clone(),
            ports: PortAllocator::new(LOOPBACK, range),
            config: Arc::new(GatewayConfig {
                connect_timeout: CONNECT_TIMEOUT,
                ..GatewayConfig::new(vec![LOOPBACK])
            }),
        };
        Ok(Self { runtime, gateways })
    }

    /// How the load generator's legs get their gateways.
    pub fn gateways(&self) -> Gateways {
        self.gateways.clone()
    }

    /// Worker threads, for the report.
    pub fn workers(&self) -> usize {
        self.runtime.metrics().num_workers()
    }

    /// Gateway pairs left in the pool (each gateway takes two).
    pub fn available_ports(&self) -> usize {
        self.gateways.ports.available()
    }
}

/// Starts gateways on the server's runtime from any other; cheap to clone.
#[derive(Clone)]
pub struct Gateways {
    runtime: tokio::runtime::Handle,
    ports: PortAllocator,
    config: Arc<GatewayConfig>,
}

impl Gateways {
    /// Answers a browser's `offer` with a new gateway whose engine side
    /// sends to (and accepts only) `engine_leg`, as call control does.
    pub async fn start(
        &self,
        offer: String,
        engine_leg: SocketAddr,
    ) -> Result<WebRtcHandle, String> {
        let ports = self.ports.clone();
        let config = Arc::clone(&self.config);
        self.runtime
            .spawn(async move {
                let browser = ports.allocate().map_err(|e| e.to_string())?;
                let engine = ports.allocate().map_err(|e| e.to_string())?;
                let handle = spawn_webrtc_gateway(&config, &offer, browser, engine)
                    .map_err(|e| e.to_string())?;
                handle
                    .set_engine_peer(engine_leg)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(handle)
            })
            .await
            .map_err(|e| e.to_string())?
    }
}
