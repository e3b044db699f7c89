use kit::Error;

#[kit::service]
trait Notes {
    async fn get(&self, id: u64) -> Result<String, Error>;
}

fn main() {}
