#[kit::message]
struct Address {
    city: String,
}

#[kit::message]
struct Person {
    address: Address,
}

fn main() {}
