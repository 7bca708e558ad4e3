package schema

// FWebURL (ext) is a field of $NS:rsync_info: the base URL of the fleet's
// dashboard (`rrr server --web-url`), where `rrr start` and `waitfor`
// point people to a taskset's page.
const FWebURL = "web_url"
