use kit::{Context, Error};

#[kit::service(thrift)]
trait Notes {
    async fn get(&self, ctx: &Context, id: u64) -> Result<String, Error>;
}

fn main() {}
