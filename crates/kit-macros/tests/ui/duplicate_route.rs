use kit::{Context, Error};

#[kit::service]
trait Notes {
    #[kit(http = "GET /notes/{id}")]
    async fn get(&self, ctx: &Context, id: u64) -> Result<String, Error>;
    #[kit(http = "GET /notes/{key}")]
    async fn title(&self, ctx: &Context, key: u64) -> Result<String, Error>;
}

fn main() {}
