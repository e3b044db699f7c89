use kit::{Context, Error};

#[kit::service]
trait Notes {
    #[kit(http = "GET /notes")]
    async fn by_tags(&self, ctx: &Context, tags: Vec<String>) -> Result<u64, Error>;
}

fn main() {}
