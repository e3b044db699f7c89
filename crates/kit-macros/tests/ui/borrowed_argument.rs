use kit::{Context, Error};

#[kit::service]
trait Notes {
    async fn find(&self, ctx: &Context, title: &str) -> Result<u64, Error>;
}

fn main() {}
