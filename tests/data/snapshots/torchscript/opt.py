# --- model.decoder.layers.0
def forward(self, x, mask_bias):
    y = torch.layer_norm(x, [self.self_attn_layer_norm.weight.size(0)], self.self_attn_layer_norm.weight, self.self_attn_layer_norm.bias, self.eps)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(y, self.self_attn.q_proj.weight, self.self_attn.q_proj.bias)
    k = torch.linear(y, self.self_attn.k_proj.weight, self.self_attn.k_proj.bias)
    v = torch.linear(y, self.self_attn.v_proj.weight, self.self_attn.v_proj.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.self_attn.out_proj.weight, self.self_attn.out_proj.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = torch.layer_norm(x, [self.final_layer_norm.weight.size(0)], self.final_layer_norm.weight, self.final_layer_norm.bias, self.eps)
    h = torch.relu(torch.linear(y, self.fc1.weight, self.fc1.bias))
    h = torch.linear(h, self.fc2.weight, self.fc2.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- model.decoder.layers.1
def forward(self, x, mask_bias):
    y = torch.layer_norm(x, [self.self_attn_layer_norm.weight.size(0)], self.self_attn_layer_norm.weight, self.self_attn_layer_norm.bias, self.eps)
    B = y.size(0)
    T = y.size(1)
    S = y.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(y, self.self_attn.q_proj.weight, self.self_attn.q_proj.bias)
    k = torch.linear(y, self.self_attn.k_proj.weight, self.self_attn.k_proj.bias)
    v = torch.linear(y, self.self_attn.v_proj.weight, self.self_attn.v_proj.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.self_attn.out_proj.weight, self.self_attn.out_proj.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = x + a
    y = torch.layer_norm(x, [self.final_layer_norm.weight.size(0)], self.final_layer_norm.weight, self.final_layer_norm.bias, self.eps)
    h = torch.relu(torch.linear(y, self.fc1.weight, self.fc1.bias))
    h = torch.linear(h, self.fc2.weight, self.fc2.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return x + h

# --- root
def forward(self, input_ids, attention_mask):
    attended = attention_mask.to(input_ids.dtype)
    positions = torch.cumsum(attended, 1) * attended - 1 + 2
    x = torch.embedding(self.model.decoder.embed_tokens.weight, input_ids)
    x = x + torch.embedding(self.model.decoder.embed_positions.weight, positions)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    order = torch.cumsum(torch.ones_like(input_ids[0]), 0)
    future = order.unsqueeze(0) > order.unsqueeze(1)
    mask_bias = mask_bias + future.to(x.dtype) * -3.4028234663852886e+38
    x = getattr(self.model.decoder.layers, '0').forward(x, mask_bias)
    x = getattr(self.model.decoder.layers, '1').forward(x, mask_bias)
    x = torch.layer_norm(x, [self.model.decoder.final_layer_norm.weight.size(0)], self.model.decoder.final_layer_norm.weight, self.model.decoder.final_layer_norm.bias, self.eps)
    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    last = (index * input_ids.ne(50256).to(index.dtype)).argmax(-1)
    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
    logits = torch.linear(first, self.score.weight)
    return (logits,)

# --- root
def forward_hidden(self, input_ids, attention_mask) -> Tuple[Tensor, List[Tensor]]:
    attended = attention_mask.to(input_ids.dtype)
    positions = torch.cumsum(attended, 1) * attended - 1 + 2
    x = torch.embedding(self.model.decoder.embed_tokens.weight, input_ids)
    x = x + torch.embedding(self.model.decoder.embed_positions.weight, positions)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    order = torch.cumsum(torch.ones_like(input_ids[0]), 0)
    future = order.unsqueeze(0) > order.unsqueeze(1)
    mask_bias = mask_bias + future.to(x.dtype) * -3.4028234663852886e+38
    hidden = [x]
    x = getattr(self.model.decoder.layers, '0').forward(x, mask_bias)
    hidden.append(x)
    x = getattr(self.model.decoder.layers, '1').forward(x, mask_bias)
    hidden.append(x)
    x = torch.layer_norm(x, [self.model.decoder.final_layer_norm.weight.size(0)], self.model.decoder.final_layer_norm.weight, self.model.decoder.final_layer_norm.bias, self.eps)
    index = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    last = (index * input_ids.ne(50256).to(index.dtype)).argmax(-1)
    first = x.gather(1, last.view(-1, 1, 1).expand(-1, 1, x.size(2))).squeeze(1)
    logits = torch.linear(first, self.score.weight)
    return logits, hidden

