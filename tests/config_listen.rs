//! CONFIG SET port / bind move the listening sockets at once (Redis's
//! changeListenPort / changeBindAddr); when the new ones cannot be opened
//! the whole CONFIG SET is rolled back and the server keeps listening where
//! it was.

use crate::common;

use common::{free_port, RawConn, Server};
use std::net::TcpListener;

#[test]
fn config_set_port_and_bind() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    // Move to a free port: the old one stops accepting.
    let p2 = free_port();
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "port", &p2.to_string()]),
        "+OK\r\n"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", srv.port())).is_err());
    let mut c2 = RawConn::connect(p2);
    assert_eq!(c2.cmd_str(&["PING"]), "+PONG\r\n");
    let info = c2.cmd_str(&["INFO", "server"]);
    assert!(info.contains(&format!("tcp_port:{}", p2)), "{}", info);

    // A port someone else holds: an error, and nothing of the command sticks.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let used = holder.local_addr().unwrap().port().to_string();
    let before = c2.cmd_str(&["CONFIG", "GET", "maxmemory"]);
    assert_eq!(
        c2.cmd_str(&["CONFIG", "SET", "maxmemory", "10000001", "port", &used, "client-query-buffer-limit", "10m"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(c2.cmd_str(&["CONFIG", "GET", "maxmemory"]), before);
    assert_eq!(
        c2.cmd_str(&["CONFIG", "GET", "port"]),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{}\r\n",
            p2.to_string().len(),
            p2
        )
    );
    assert_eq!(RawConn::connect(p2).cmd_str(&["PING"]), "+PONG\r\n");

    // An address this host does not have.
    assert_eq!(
        c2.cmd_str(&["CONFIG", "SET", "bind", "192.0.2.1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(RawConn::connect(p2).cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(
        c2.cmd_str(&["CONFIG", "SET", "bind", "127.0.0.1"]),
        "+OK\r\n"
    );
    assert_eq!(RawConn::connect(p2).cmd_str(&["PING"]), "+PONG\r\n");
    srv.assert_no_panic();
}
