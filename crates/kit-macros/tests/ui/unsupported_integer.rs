use kit::{Context, Error};

#[kit::service]
trait Notes {
    async fn get(&self, ctx: &Context, id: usize) -> Result<String, Error>;
}

fn main() {}
