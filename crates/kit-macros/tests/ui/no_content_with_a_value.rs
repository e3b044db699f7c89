use kit::{Context, Error};

#[kit::service]
trait Notes {
    #[kit(http = "DELETE /notes/{id}", status = 204)]
    async fn delete(&self, ctx: &Context, id: u64) -> Result<u64, Error>;
}

fn main() {}
