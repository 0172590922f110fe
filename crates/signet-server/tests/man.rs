//! The manual page `docs/man/signet-server.1` is generated from the command line's
//! definition; this test fails when the committed page is stale.

use clap::CommandFactory as _;
use signet_server::cli::Args;

#[test]
fn the_man_page_is_current() {
    let text = signet_testkit::man::check_page(
        Args::command(),
        "signet-server",
        "SIGNET_UPDATE_MAN=1 cargo test -p signet-server --test man",
    );
    for flag in [
        "max\\-connections",
        "submit\\-concurrency",
        "header\\-timeout",
        "body\\-timeout",
        "idle\\-timeout",
    ] {
        assert!(text.contains(flag), "{flag} missing from the page");
    }
}
