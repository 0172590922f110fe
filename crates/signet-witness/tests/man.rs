//! The manual page `docs/man/signet-witness.1` is generated from the command line's
//! definition; this test fails when the committed page is stale.

use clap::CommandFactory as _;
use signet_witness::cli::Args;

#[test]
fn the_man_page_is_current() {
    let text = signet_testkit::man::check_page(
        Args::command(),
        "signet-witness",
        "SIGNET_UPDATE_MAN=1 cargo test -p signet-witness --test man",
    );
    for flag in [
        "max\\-connections",
        "header\\-timeout",
        "body\\-timeout",
        "idle\\-timeout",
        "\\-\\-log",
        "\\-\\-name",
    ] {
        assert!(text.contains(flag), "{flag} missing from the page");
    }
}
