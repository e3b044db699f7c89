use kit::Context;

#[kit::service]
trait Notes {
    async fn count(&self, ctx: &Context) -> u64;
}

fn main() {}
