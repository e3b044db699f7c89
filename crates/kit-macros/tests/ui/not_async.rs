use kit::{Context, Error};

#[kit::service]
trait Notes {
    fn get(&self, ctx: &Context, id: u64) -> Result<String, Error>;
}

fn main() {}
