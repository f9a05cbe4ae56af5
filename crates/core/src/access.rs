//! Who may read an order: the access policy, applied to credentials the HTTP layer verified.

use crate::model::Order;

/// A verified customer-side caller. Admins are checked by the HTTP layer and read through their
/// own service calls, so they need no entry here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A customer, by the id their storefront token names.
    Customer(String),
    /// Whoever holds a valid signed link for this order.
    Link(String),
}

impl Access {
    pub fn may_read(&self, order: &Order) -> bool {
        match self {
            Access::Customer(id) => *id == order.customer_id,
            Access::Link(order_id) => *order_id == order.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_order;
    use chrono::Utc;

    #[test]
    fn a_customer_reads_their_own_orders_and_a_link_its_own_order() {
        let order = test_order(Utc::now());
        assert!(Access::Customer("cust-1".into()).may_read(&order));
        assert!(!Access::Customer("cust-2".into()).may_read(&order));
        assert!(Access::Link("ORD-1".into()).may_read(&order));
        assert!(!Access::Link("ORD-2".into()).may_read(&order));
    }
}
